"""posthouse.finish — see DESIGN.md; built by later issues."""
