using Akka.EventDriven.Storage;
using Npgsql;

namespace Akka.EventDriven.Service.TestModule;

/// <summary>The witnesses' writes: one statement on the node's own PostgreSQL (<c>DATABASE_URL</c>) per call, with
/// text parameters <c>$1</c>, <c>$2</c>, ….</summary>
internal static class WitnessDatabase
{
    private static readonly string ConnectionString = StoreSettings.NormalizeConnectionString(StoreProvider.PostgreSql,
        Environment.GetEnvironmentVariable("DATABASE_URL") ?? throw new InvalidOperationException("The witnesses need DATABASE_URL."));

    public static async Task ExecuteAsync(string sql, params string[] values)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var value in values) command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = value });
        await command.ExecuteNonQueryAsync();
    }
}
