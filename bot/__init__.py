"""Mutu: the French FAQ assistant on mutualisation for Concertation Horizon."""
