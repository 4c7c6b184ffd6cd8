/** Problems the API found, as an alert; nothing when there are none. */
export function ProblemList({ problems }: { problems: string[] | undefined }) {
  if (!problems?.length) return null;
  return (
    <div className="banner error" role="alert">
      <ul style={{ margin: 0 }}>
        {problems.map((p, i) => (
          <li key={i}>{p}</li>
        ))}
      </ul>
    </div>
  );
}
