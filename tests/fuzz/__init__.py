"""The long fuzz job (``pytest tests/fuzz -m fuzz``) and the builders the other tests share."""
