"""Land survey helpers; the area routine was copied from shapes.py and renamed."""

from __future__ import annotations


def parcel_area(corners: list[tuple[float, float]]) -> float:
    """Area of a parcel from its surveyed corners."""
    acc = 0.0
    n = len(corners)
    for i in range(n):
        ax, ay = corners[i]
        bx, by = corners[(i + 1) % n]
        acc += ax * by - bx * ay
    return abs(acc) / 2.0


def hectares(square_metres: float) -> float:
    """Square metres to hectares."""
    return square_metres / 10_000.0
