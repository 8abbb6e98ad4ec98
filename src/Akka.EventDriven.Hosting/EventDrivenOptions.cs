using System.Reflection;
using Akka.EventDriven.Storage;
using Akka.EventDriven.Serialization;

namespace Akka.EventDriven.Hosting;

/// <summary>
/// What <see cref="EventDrivenHostingExtensions.WithEventDriven"/> wires. Every null option keeps the value of the
/// environment file (<see cref="EnvironmentFile"/>) or, failing that, the embedded reference.conf.
/// </summary>
public sealed class EventDrivenOptions
{
    internal List<AggregateRegistration> Aggregates { get; } = [];

    /// <summary>A HOCON environment overlay such as <c>hocon/development.conf</c>; its settings (cluster, remoting,
    /// <c>akka.event-driven.*</c>) apply under these options. A relative path is tried against the current directory,
    /// then against the application's base directory; a file found in neither fails the start with both paths named.
    /// Default: null, none. Use it for your own file; for the shipped ones, <see cref="Environment"/> needs no file.</summary>
    public string? EnvironmentFile { get; set; }

    /// <summary>One of the environments this package embeds (the repository's <c>hocon/</c> folder, compiled in):
    /// <c>development</c> (one node on localhost, SQLite), <c>test</c> (fast timers, SQLite) or <c>production</c>
    /// (PostgreSQL from <c>DATABASE_URL</c>, split-brain resolver, never joins itself). Applies under these options,
    /// like <see cref="EnvironmentFile"/>; set one or the other. Names are case-insensitive; an unknown one fails the
    /// start listing the known ones. Default: null, none.</summary>
    public string? Environment { get; set; }

    /// <summary>The names <see cref="Environment"/> accepts.</summary>
    public static IReadOnlyList<string> EmbeddedEnvironments { get; } = typeof(EventDrivenOptions).Assembly.GetManifestResourceNames()
        .Where(n => n.StartsWith(EnvironmentResourcePrefix, StringComparison.Ordinal) && n.EndsWith(".conf", StringComparison.Ordinal))
        .Select(n => n[EnvironmentResourcePrefix.Length..^".conf".Length]).Order(StringComparer.Ordinal).ToArray();

    internal const string EnvironmentResourcePrefix = "Akka.EventDriven.Hosting.environments.";

    /// <summary>The HOCON text of the embedded environment <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">No environment of that name is embedded.</exception>
    public static string EmbeddedEnvironment(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var known = EmbeddedEnvironments.FirstOrDefault(e => string.Equals(e, name.Trim(), StringComparison.OrdinalIgnoreCase))
                    ?? throw new ArgumentException(
                        $"Unknown environment '{name}': the embedded ones are {string.Join(", ", EmbeddedEnvironments)}. " +
                        "For a file of your own, set EnvironmentFile instead.", nameof(name));
        using var stream = typeof(EventDrivenOptions).Assembly.GetManifestResourceStream(EnvironmentResourcePrefix + known + ".conf")!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>Where events and snapshots are stored.</summary>
    public PersistenceOptions Persistence { get; } = new();

    /// <summary>The registry of stable type names for events, commands and states. Register everything here.</summary>
    public MessageTypeRegistry Registry { get; set; } = new();

    /// <summary>Registers every <see cref="EventTypeAttribute"/>-marked type of <paramref name="assembly"/>.</summary>
    public EventDrivenOptions RegisterTypes(Assembly assembly)
    {
        Registry.RegisterAssembly(assembly);
        return this;
    }

    /// <summary>Hosts <paramref name="aggregate"/> as a sharded persistent actor on this node.</summary>
    public EventDrivenOptions AddAggregate<TState>(Aggregate<TState> aggregate, Action<AggregateOptions>? configure = null)
        where TState : notnull
    {
        ArgumentNullException.ThrowIfNull(aggregate);
        EventSourcing.PersistenceIds.ValidateAggregateName(aggregate.Name);
        if (Aggregates.Any(a => a.Name == aggregate.Name))
            throw new ArgumentException($"Aggregate '{aggregate.Name}' is added twice.", nameof(aggregate));
        var options = new AggregateOptions();
        configure?.Invoke(options);
        Aggregates.Add(new AggregateRegistration(aggregate.Name, options,
            (system, settings) => EventSourcing.Aggregates.Get(system).StartAsync(aggregate, settings, options.Role)));
        return this;
    }

    internal sealed record AggregateRegistration(
        string Name, AggregateOptions Options, Func<Akka.Actor.ActorSystem, EventSourcing.AggregateSettings, Task> Start);
}
