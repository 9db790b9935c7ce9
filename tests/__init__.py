"""nnlearn's tests, in folders that mirror src/nnlearn/; project-wide checks sit here at the top."""
