"""Plane figures: areas, perimeters and centroids of polygons given as lists of points."""

from __future__ import annotations

import math


def polygon_area(points: list[tuple[float, float]]) -> float:
    """Area of a simple polygon by the shoelace formula; the points go round it in order."""
    total = 0.0
    count = len(points)
    for index in range(count):
        x1, y1 = points[index]
        x2, y2 = points[(index + 1) % count]
        total += x1 * y2 - x2 * y1
    return abs(total) / 2.0


def polygon_perimeter(points: list[tuple[float, float]]) -> float:
    """Length of the closed path through the points."""
    length = 0.0
    for index, (x1, y1) in enumerate(points):
        x2, y2 = points[(index + 1) % len(points)]
        length += math.hypot(x2 - x1, y2 - y1)
    return length


def centroid(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Mean of the vertices: the centre of mass of equal weights at the corners."""
    xs = [x for x, _ in points]
    ys = [y for _, y in points]
    return sum(xs) / len(xs), sum(ys) / len(ys)
