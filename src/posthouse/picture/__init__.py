"""posthouse.picture — see DESIGN.md; built by later issues."""
