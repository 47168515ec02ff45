// Compile-time check (typecheck runs over test/): a plain mysql2 pool, as a service creates it,
// is a RouterPool without a cast.
import mysql from 'mysql2';
import type { RouterPool } from '../src/index.js';

export const servicePool: RouterPool = mysql.createPool({ uri: 'mysql://user:secret@127.0.0.1:3306/accounts', connectionLimit: 1 });
