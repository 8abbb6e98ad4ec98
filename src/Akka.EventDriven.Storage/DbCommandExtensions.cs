using System.Data.Common;

namespace Akka.EventDriven.Storage;

/// <summary>Provider-neutral parameters for commands on the event store's connections (Npgsql or SQLite).</summary>
public static class DbCommandExtensions
{
    /// <summary>Adds parameter <paramref name="name"/> (referred to as <c>@name</c>) with <paramref name="value"/>;
    /// null becomes <see cref="DBNull"/>.</summary>
    public static DbCommand AddParameter(this DbCommand command, string name, object? value)
    {
        var p = command.CreateParameter();
        p.ParameterName = name;
        p.Value = value ?? DBNull.Value;
        command.Parameters.Add(p);
        return command;
    }
}
