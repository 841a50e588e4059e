"""Known objects: what a widget can show (agents, queues, groups…), for the widget wizard's
search and for expanding a widget's group selections."""
