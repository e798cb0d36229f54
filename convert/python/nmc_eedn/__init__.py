"""Eedn training for nmc: binary neurons, trinary synapses, TrueNorth core limits.

Runs with Debian's python3-torch 1.13 (/usr/bin/python3) and with newer PyTorch.
"""
from .layers import (BinaryStep, Thermometer, TrinaryConv2d, EednBlock, EednNet,
                     ClassPopulations)
from .data import load_fashion_mnist
from .export_yaml import export_yaml

__all__ = ["BinaryStep", "Thermometer", "TrinaryConv2d", "EednBlock", "EednNet",
           "ClassPopulations", "load_fashion_mnist", "export_yaml"]
