"""posthouse.sound — see DESIGN.md; built by later issues."""
