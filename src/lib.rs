//! imlogin: the browser login module for IM services.
