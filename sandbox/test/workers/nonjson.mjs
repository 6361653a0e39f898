// Prints something that is not JSON.
process.stdout.write('this is not {json');
