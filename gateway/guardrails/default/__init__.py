"""default"""
