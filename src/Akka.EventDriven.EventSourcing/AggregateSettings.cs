using Akka.Actor;
using Akka.Configuration;

namespace Akka.EventDriven.EventSourcing;

/// <summary>Runtime settings of one aggregate type, read from <c>akka.event-driven.event-sourcing</c> with the
/// overrides of <c>akka.event-driven.event-sourcing.aggregates.&lt;Name&gt;</c>. Immutable; use the <c>with</c> copies.</summary>
/// <param name="SnapshotEvery">Snapshot every N events: the first write that crosses each multiple of N takes one, at its
/// last event (a write that crosses several multiples takes one). 0 disables snapshots. Default 100.</param>
/// <param name="KeepSnapshots">Most recent snapshots kept. Default 2.</param>
/// <param name="DeleteEventsOnSnapshot">Delete events covered by the oldest kept snapshot. Default off.</param>
/// <param name="PassivateIdleAfter">Idle time after which the entity stops; zero = never. Default 120 s.</param>
/// <param name="AskTimeout">Default command timeout. Default 10 s.</param>
/// <param name="MaxCommandsPerWrite">Most commands group-committed in one atomic write. Default 1000.</param>
/// <param name="MaxPendingCommands">Most commands one entity holds while it recovers (or restarts after a storage
/// failure); further commands fail at once with a reason that says so. Default 1000.</param>
/// <param name="ResendAfter">A command (or state query) with no answer after this long is sent again, then after twice
/// as long, and so on until its timeout: sharding drops messages that arrive while an entity moves to another node,
/// and the command id makes the resend safe. Null (<c>off</c>) sends once. Default 2 s.</param>
/// <param name="IdempotencyWindow">How long an aggregate remembers the id of a command it stored (also one it replays
/// from storage, by the events' timestamps) to answer a repeat with its first result. Zero turns the check off (and
/// the resends with it). Must cover the longest command timeout in use. Default 30 s.</param>
/// <param name="MaxRememberedCommands">Most command ids one aggregate remembers (a hot aggregate's memory bound); the
/// oldest go first. Default 10,000.</param>
/// <param name="SnapshotCommands">Most remembered command ids a snapshot carries (the newest), for an incarnation that
/// recovers from it. Default 256.</param>
public sealed record AggregateSettings(
    int SnapshotEvery,
    int KeepSnapshots,
    bool DeleteEventsOnSnapshot,
    TimeSpan PassivateIdleAfter,
    TimeSpan AskTimeout,
    int MaxCommandsPerWrite,
    int MaxPendingCommands = 1000,
    TimeSpan? ResendAfter = null,
    TimeSpan IdempotencyWindow = default,
    int MaxRememberedCommands = 10_000,
    int SnapshotCommands = 256)
{
    /// <summary>True when commands carry ids that the aggregate checks (<see cref="IdempotencyWindow"/> is positive).</summary>
    public bool Idempotent => IdempotencyWindow > TimeSpan.Zero;

    /// <summary>Config path of the module's settings.</summary>
    public const string ConfigPath = "akka.event-driven.event-sourcing";

    /// <summary>Reads the settings of aggregate type <paramref name="aggregateName"/> from <paramref name="system"/>'s config.</summary>
    public static AggregateSettings Create(ActorSystem system, string aggregateName) =>
        Create(system.Settings.Config.WithFallback(EventSourcingConfig.DefaultConfig()), aggregateName);

    /// <summary>Reads the settings of aggregate type <paramref name="aggregateName"/> from <paramref name="config"/>.</summary>
    public static AggregateSettings Create(Config config, string aggregateName)
    {
        var root = config.GetConfig(ConfigPath) ?? throw new ConfigurationException($"Missing '{ConfigPath}'.");
        var own = root.GetConfig($"aggregates.{aggregateName}");
        var c = own is null || own.IsEmpty ? root : own.WithFallback(root);
        return new AggregateSettings(
            c.GetInt("snapshot-every"),
            c.GetInt("keep-snapshots"),
            c.GetBoolean("delete-events-on-snapshot"),
            c.GetTimeSpan("passivate-idle-after"),
            c.GetTimeSpan("ask-timeout"),
            c.GetInt("max-commands-per-write"),
            c.GetInt("max-pending-commands"),
            OffOr(c, "idempotency.resend-after"),
            c.GetTimeSpan("idempotency.window", TimeSpan.FromSeconds(30)),
            c.GetInt("idempotency.max-remembered-commands", 10_000),
            c.GetInt("idempotency.snapshot-commands", 256)).Validate(aggregateName);
    }

    private static TimeSpan? OffOr(Config c, string path) =>
        !c.HasPath(path) || string.Equals(c.GetString(path), "off", StringComparison.OrdinalIgnoreCase) ? null : c.GetTimeSpan(path);

    /// <summary>Throws a <see cref="ConfigurationException"/> naming the aggregate when a value is out of range.</summary>
    public AggregateSettings Validate(string aggregateName)
    {
        void Fail(string what) => throw new ConfigurationException($"Aggregate '{aggregateName}': {what}");
        if (SnapshotEvery < 0) Fail($"snapshot-every must be 0 (off) or more, was {SnapshotEvery}.");
        if (KeepSnapshots < 1) Fail($"keep-snapshots must be at least 1, was {KeepSnapshots}.");
        if (PassivateIdleAfter < TimeSpan.Zero) Fail("passivate-idle-after must not be negative.");
        if (AskTimeout <= TimeSpan.Zero) Fail("ask-timeout must be positive.");
        if (MaxCommandsPerWrite < 1) Fail($"max-commands-per-write must be at least 1, was {MaxCommandsPerWrite}.");
        if (MaxPendingCommands < 1) Fail($"max-pending-commands must be at least 1, was {MaxPendingCommands}.");
        if (ResendAfter is { } r && r <= TimeSpan.Zero) Fail("idempotency.resend-after must be positive or off.");
        if (IdempotencyWindow < TimeSpan.Zero) Fail("idempotency.window must be 0 (off) or more.");
        if (MaxRememberedCommands < 1) Fail($"idempotency.max-remembered-commands must be at least 1, was {MaxRememberedCommands}.");
        if (SnapshotCommands < 0) Fail($"idempotency.snapshot-commands must be 0 or more, was {SnapshotCommands}.");
        return this;
    }
}
