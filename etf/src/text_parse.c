/* text_parse: filled in below */
