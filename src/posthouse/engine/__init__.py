"""posthouse.engine — see DESIGN.md; built by later issues."""
