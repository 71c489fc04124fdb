import pytest
import torch


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Batched LAPACK on two OpenMP threads stalls (100x) while other processes hold the cores."""
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)
