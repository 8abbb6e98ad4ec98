namespace Akka.EventDriven.EventSourcing;

/// <summary>Marker of the messages this module serializes with its own JSON serializer.</summary>
public interface IEventDrivenMessage;
