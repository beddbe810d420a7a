"""The gateway: Kervan's one authenticated HTTP entry point — marketplace webhooks in, fleet
status out (``kervan gateway``). Stateless: every instance answers every request, so several run
behind a load balancer."""
