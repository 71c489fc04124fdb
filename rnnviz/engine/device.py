"""Choosing the torch device: ``auto`` means CUDA, else Apple MPS, else CPU."""

from __future__ import annotations

from rnnviz.errors import DeviceError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def available_devices() -> list[str]:
    """The devices this machine can run on, CPU always first."""
    import torch

    found = ["cpu"]
    if torch.cuda.is_available():
        found.append("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        found.append("mps")
    return found


def resolve_device(name: str = "auto") -> str:
    """Turn a user's choice into a torch device string, or explain why it cannot be used."""
    base = name.split(":", 1)[0] if isinstance(name, str) else name
    if base not in DEVICE_CHOICES or (name != base and base != "cuda"):
        raise DeviceError(f"device {name!r} is not known; choose one of {', '.join(DEVICE_CHOICES)}")
    found = available_devices()
    if base == "auto":
        return "cuda" if "cuda" in found else "mps" if "mps" in found else "cpu"
    if base not in found:
        raise DeviceError(f"device {name!r} is not available on this machine; available: {', '.join(found)}")
    if base == "cuda" and name != base:
        import torch

        index = name.split(":", 1)[1]
        if not index.isdigit() or int(index) >= torch.cuda.device_count():
            raise DeviceError(f"device {name!r} does not exist; this machine has {torch.cuda.device_count()} CUDA device(s)")
    return name


def check_device_memory(need: int, device: str) -> None:
    """Refuse a CUDA run whose buffers (``need`` bytes: every state and the weights) would not fit in
    the device's free memory, rather than fail part-way with torch's out-of-memory error.

    The CPU is checked against the host's memory before anything is allocated
    (:func:`rnnviz.trace.check_memory`); MPS shares the host's memory.
    """
    if not device.startswith("cuda"):
        return
    import torch

    free, _total = torch.cuda.mem_get_info(torch.device(device))
    if need > free:
        raise DeviceError(
            f"model too large for {device}: its states and weights need about {need / 2**30:.1f} GiB and the "
            f"device has {free / 2**30:.1f} GiB free; use fewer timesteps, layers or units, or device cpu"
        )
