"""posthouse.score — see DESIGN.md; built by later issues."""
