"""PostgreSQL read replicas: which reads they take, and when a read goes back to the primary."""
