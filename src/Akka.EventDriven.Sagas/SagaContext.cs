namespace Akka.EventDriven.Sagas;

/// <summary>What a step's action or compensation sees: the saga's typed data and the identity of this attempt.</summary>
/// <typeparam name="TData">The saga's data type (serialized as JSON with the platform's registry options).</typeparam>
public sealed class SagaContext<TData> where TData : class
{
    internal SagaContext(string sagaId, string sagaName, string stepId, int attempt, bool isCompensation, TData data)
    {
        SagaId = sagaId;
        SagaName = sagaName;
        StepId = stepId;
        Attempt = attempt;
        IsCompensation = isCompensation;
        Data = data;
        IdempotencyKey = isCompensation ? $"{sagaId}:{stepId}:compensate" : $"{sagaId}:{stepId}";
    }

    /// <summary>The saga instance id.</summary>
    public string SagaId { get; }

    /// <summary>The saga definition's name.</summary>
    public string SagaName { get; }

    /// <summary>The step being run or compensated.</summary>
    public string StepId { get; }

    /// <summary>1 for the first attempt of this step (or compensation) in this saga, counting only attempts whose
    /// failure was recorded: an attempt cut short by a crash is repeated with the same number.</summary>
    public int Attempt { get; }

    /// <summary>True when this is the step's compensation.</summary>
    public bool IsCompensation { get; }

    /// <summary>
    /// The same for every attempt of this step's action (<c>{sagaId}:{stepId}</c>), or of its compensation
    /// (<c>{sagaId}:{stepId}:compensate</c>), also when the attempt is repeated after a crash. Actions and
    /// compensations must be idempotent: pass this key to the service so that a repeat has no second effect.
    /// </summary>
    public string IdempotencyKey { get; }

    /// <summary>The saga's data. Changes made by an action are recorded when the step completes (a failed attempt's
    /// changes are discarded); compensations see the data as of the last completed step.</summary>
    public TData Data { get; set; }
}
