using Akka.EventDriven.EventSourcing;

namespace Akka.EventDriven.Http;

/// <summary>What an API key may do.</summary>
public enum ApiRole
{
    /// <summary>Read anything, send commands, publish and enqueue.</summary>
    Read,
    /// <summary>Everything <see cref="Read"/> may, plus replaying and purging dead letters.</summary>
    Admin,
}
