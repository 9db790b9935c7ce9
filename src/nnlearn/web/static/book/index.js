// The Book's contents page: nothing to compute (book.js marks the tab).
"use strict";
