"""nnlearn.web: the playground, the Book, the HTTP API, the server, and the pages in a real browser."""
