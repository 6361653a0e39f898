// Throws while "parsing": an uncaught exception.
throw new Error('hostile parser blew up');
