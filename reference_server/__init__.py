"""reference_server"""
