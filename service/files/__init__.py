"""Files: uploads streamed to storage (a local directory or S3), their rows, downloads
for those who may read them, thumbnails, and the sweep of files never attached."""
