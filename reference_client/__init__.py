"""reference_client"""
