"""Reading and writing trained weights: Keras 3 ``.keras`` files and torch ``state_dict`` files."""
