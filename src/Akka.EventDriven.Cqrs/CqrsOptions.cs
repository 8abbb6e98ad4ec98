using System.Text;
using Akka.Actor;

namespace Akka.EventDriven.Cqrs;

/// <summary>
/// What <see cref="CqrsHostingExtensions.WithCqrs"/> wires: handler registrations on the node's buses
/// (<see cref="CqrsExtension"/>), and the settings. A null setting keeps the environment file's value or, failing that,
/// reference.conf (<c>akka.event-driven.cqrs</c>).
/// </summary>
public sealed class CqrsOptions
{
    internal List<Action<CommandBus, ActorSystem>> CommandRegistrations { get; } = [];
    internal List<Action<QueryBus, ActorSystem>> QueryRegistrations { get; } = [];

    /// <summary>Most cached query results (<c>query-cache-capacity</c>). Default 10,000.</summary>
    public int? QueryCacheCapacity { get; set; }

    /// <summary>Drop cached results at the next event of an aggregate they depend on (<c>invalidate-from-journal</c>).
    /// Default on.</summary>
    public bool? InvalidateFromJournal { get; set; }

    /// <summary>Registers command handlers once the actor system runs (it gets the system, for repositories).</summary>
    public CqrsOptions Commands(Action<CommandBus, ActorSystem> register)
    {
        CommandRegistrations.Add(register ?? throw new ArgumentNullException(nameof(register)));
        return this;
    }

    /// <summary>Registers query handlers once the actor system runs.</summary>
    public CqrsOptions Queries(Action<QueryBus, ActorSystem> register)
    {
        QueryRegistrations.Add(register ?? throw new ArgumentNullException(nameof(register)));
        return this;
    }

    internal string ToHocon()
    {
        var hocon = new StringBuilder(CqrsConfig.Path).Append(" {\n");
        if (QueryCacheCapacity is { } c) hocon.Append("  query-cache-capacity = ").Append(c).Append('\n');
        if (InvalidateFromJournal is { } i) hocon.Append("  invalidate-from-journal = ").Append(HoconText.Bool(i)).Append('\n');
        return hocon.Append("}\n").ToString();
    }
}
