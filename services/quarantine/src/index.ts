// The quarantine zone (issue 4). This release holds its pure building blocks: format parsers and
// validators, the pickle scanner and the behavioural judge; the stage machine and the service
// come next.
export {};
