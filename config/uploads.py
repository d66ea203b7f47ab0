"""What every product's upload limit shares."""

# Room for the multipart envelope (boundary lines, part headers) around a file of
# exactly the allowed size, when a declared Content-Length is checked against a limit
# before the body is read.
MULTIPART_OVERHEAD_BYTES = 64 * 1024
