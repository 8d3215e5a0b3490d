/* json: filled in below */
