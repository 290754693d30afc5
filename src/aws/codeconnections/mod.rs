//! CodeConnections: the connection to the source repository host (created here, approved once by the operator).
