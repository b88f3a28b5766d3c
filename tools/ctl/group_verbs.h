// Consumer-group verbs over redcar.v1.Events: group create, group delete,
// and group consume, a member's session (Consume): join, ask for events in
// credits of --count, print each, acknowledge it after printing (unless
// --no-ack), stop after --max events or when interrupted.
#pragma once
