"""What reaches the app from the network: HTTP deadlines and size caps, process limits."""
