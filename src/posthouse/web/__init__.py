"""posthouse.web — see DESIGN.md; built by later issues."""
