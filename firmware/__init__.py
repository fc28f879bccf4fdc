"""firmware component."""
