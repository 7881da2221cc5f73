"""The kit's servables."""
