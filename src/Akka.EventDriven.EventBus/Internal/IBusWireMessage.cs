namespace Akka.EventDriven.EventBus.Internal;

/// <summary>Messages the bus sends between nodes; serialized by <see cref="BusSerializer"/>.</summary>
public interface IBusWireMessage;
