using System.Text;
using Akka.EventDriven.Serialization;

namespace Akka.EventDriven.Hosting;

/// <summary>Options of one aggregate type (<c>akka.event-driven.event-sourcing.aggregates.&lt;Name&gt;</c>);
/// null keeps the configured default.</summary>
public sealed class AggregateOptions
{
    /// <summary>Snapshot every N events, 0 = never. Default 100.</summary>
    public int? SnapshotEvery { get; set; }
    /// <summary>Most recent snapshots kept. Default 2.</summary>
    public int? KeepSnapshots { get; set; }
    /// <summary>Delete events covered by the oldest kept snapshot. Default false.</summary>
    public bool? DeleteEventsOnSnapshot { get; set; }
    /// <summary>Stop idle entities after this long; zero = never. Default 120 s.</summary>
    public TimeSpan? PassivateIdleAfter { get; set; }
    /// <summary>Default command timeout. Default 10 s.</summary>
    public TimeSpan? AskTimeout { get; set; }
    /// <summary>Most commands group-committed per write. Default 1000.</summary>
    public int? MaxCommandsPerWrite { get; set; }
    /// <summary>Most commands held while the entity recovers; more fail at once. Default 1000.</summary>
    public int? MaxPendingCommands { get; set; }
    /// <summary>Cluster role whose nodes host the entities. Default: null, every node.</summary>
    public string? Role { get; set; }

    internal string ToHocon(string name)
    {
        var sb = new StringBuilder($"akka.event-driven.event-sourcing.aggregates.{HoconText.Quote(name)} {{\n");
        if (SnapshotEvery is { } s) sb.Append($"  snapshot-every = {s}\n");
        if (KeepSnapshots is { } k) sb.Append($"  keep-snapshots = {k}\n");
        if (DeleteEventsOnSnapshot is { } d) sb.Append($"  delete-events-on-snapshot = {(d ? "on" : "off")}\n");
        if (PassivateIdleAfter is { } p) sb.Append($"  passivate-idle-after = {(long)p.TotalMilliseconds}ms\n");
        if (AskTimeout is { } a) sb.Append($"  ask-timeout = {(long)a.TotalMilliseconds}ms\n");
        if (MaxCommandsPerWrite is { } m) sb.Append($"  max-commands-per-write = {m}\n");
        if (MaxPendingCommands is { } mp) sb.Append($"  max-pending-commands = {mp}\n");
        return sb.Append("}\n").ToString();
    }
}
