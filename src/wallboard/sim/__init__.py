"""The contact-center simulator: scenarios in, the four sources' event streams and ground truth out."""
