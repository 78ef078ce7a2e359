"""The payment context: approves, and on cancellation refunds, the payment of a reservation."""
