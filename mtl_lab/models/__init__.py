"""Networks: encoders (shared trunks), heads (one per task) and architectures that combine them."""
