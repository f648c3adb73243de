"""The core types every layer shares: ``Call``, ``Result``, the routing plan, errors, settings, request options."""
