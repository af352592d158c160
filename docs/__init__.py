"""Tools that build the documentation: the results renderer (`python -m docs.render`) and the mkdocs hook."""
