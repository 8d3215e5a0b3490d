/* text_print: filled in below */
